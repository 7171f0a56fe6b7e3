import assert from 'node:assert/strict';

/**
 * The error `fn` throws, asserted to be a `type` (pass the class the code
 * under test throws: a test of a package's sources sees its own copy of an
 * error class, not the one of its built package); fails the test when `fn`
 * returns.
 */
export function thrownBy<E>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected a ${type.name}`);
}
