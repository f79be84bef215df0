"""tandem's benchmark harness: suites (micro, cpu, servers, update), the alternating method,
the results format and the report. bench/run is the entry point; see docs/benchmarks.md."""
