import { afterEach } from 'vitest';
import { clearCaches } from '#src/reconcile/reconcile';
import { makeWorld, type World } from '#local/world';

/**
 * `makeWorld` for a test file: every world it makes has its SDK mocks restored after each test, and the reconciler's
 * per-container caches (instance types, quota) are cleared, so no test sees another test's region.
 */
export function worldsPerTest(): typeof makeWorld {
  const made: World[] = [];
  afterEach(() => {
    for (const w of made.splice(0)) w.mocks.restore();
    clearCaches();
  });
  return async (...args) => {
    const w = await makeWorld(...args);
    made.push(w);
    return w;
  };
}
