// The page's hook for the end-to-end tests (test/browser.test.ts) and the browser bench.
interface Window {
  cdamDemo: unknown;
}
