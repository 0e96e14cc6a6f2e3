// Kept for the tests that import it: the harness now lives in harness/service-process.ts, where
// the benchmark may use it too.
export * from '../../harness/service-process.js';
