import type { ModelsApi } from '../../../contract/models.js';
import type { Handler } from '../../ipc/router.js';
import type { ModelManager } from '../../models/manager.js';

export function modelHandlers(manager: ModelManager): { [M in keyof ModelsApi]: Handler<M> } {
  return {
    'models.list': async () => (await manager.list()).map((m) => m.card),
    'models.get': async ({ id }) => (await manager.get(id)).card,
    'models.delete': async ({ id }) => ({ deleted: await manager.delete(id) }),
    'models.import': async ({ path, onnx }) => (await manager.import(path, onnx)).card,
    'models.export': async ({ id, out }) => ({ out: await manager.export(id, out) }),
  };
}
