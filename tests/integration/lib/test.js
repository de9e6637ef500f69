// node:test with a deadline on every test and every hook, so that a hang
// fails where it happens instead of blocking the run: Node 20's
// --test-timeout bounds a whole file when files run under `node --test`, and
// hooks have no deadline at all. Every suite imports test, describe, before
// and after from here (tests/run.sh refuses a file that takes them from
// node:test). TEST_TIMEOUT_MS overrides the default of two minutes.
import * as nodeTest from 'node:test';

export const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS) || 120000;

// test(name[, options], fn) (and it): node:test's, with `timeout`
// defaulting to TEST_TIMEOUT_MS; test.skip, test.todo and test.only
// likewise (a skipped or todo test fails the run all the same).
function withTimeout(extra) {
  return (name, options, fn) => {
    if (typeof options === 'function') [options, fn] = [{}, options];
    return nodeTest.test(name, { timeout: TEST_TIMEOUT_MS, ...options, ...extra }, fn);
  };
}
export const test = withTimeout({});
test.skip = withTimeout({ skip: true });
test.todo = withTimeout({ todo: true });
test.only = withTimeout({ only: true });
export const it = test;

const withDeadline = (hook) => (fn, options = {}) =>
  hook(fn, { timeout: TEST_TIMEOUT_MS, ...options });

export const before = withDeadline(nodeTest.before);
export const after = withDeadline(nodeTest.after);
export const beforeEach = withDeadline(nodeTest.beforeEach);
export const afterEach = withDeadline(nodeTest.afterEach);
export const { describe, mock } = nodeTest;
