// First import of the in-browser suites (suites.ts): uvu keeps a reference to
// console.log when it loads, so the lines are redirected to the page before.
const post = (globalThis as unknown as { postMessage(m: unknown): void }).postMessage.bind(globalThis);
console.log = (...a: unknown[]) => post({ log: a.map(String).join(' ') });
console.error = console.log;
(globalThis as { onerror?: unknown }).onerror = (e: unknown) => post({ log: `uncaught: ${String((e as { message?: string }).message ?? e)}` });
(globalThis as { onunhandledrejection?: unknown }).onunhandledrejection = (e: { reason?: unknown }) => post({ log: `uncaught: ${String(e.reason)}` });
export {};
