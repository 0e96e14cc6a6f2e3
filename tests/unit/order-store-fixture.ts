// The order service tests' store (orders, disputes): a fresh one per test on the engine, closed
// after it, with the OrderRepository on it and departments that always answer the loaded catalog.
import { afterEach } from 'vitest';
import type { Engine, Store } from '../../src/db/store.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import type { DepartmentStore } from '../../src/departments/store.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { openTestStore } from '../support/engines.js';

export const catalog = loadCatalog();

/** Departments as the services read them: always the catalog (no changes). */
export const departments = { current: () => catalog } as unknown as DepartmentStore;

/** Call inside a describe: registers the close and returns the per-test opener. */
export function orderStorePerTest(engine: Engine): () => Promise<{ store: Store; repo: OrderRepository }> {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return async () => {
    store = await openTestStore(engine);
    return { store, repo: new OrderRepository(store) };
  };
}
