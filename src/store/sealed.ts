import type { Endpoint, Source } from '../domain/model.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { Store } from './store.js';

/**
 * A Store whose secrets are sealed before they reach the database and opened as they come
 * back: endpoint signing secrets and a source's provider secret. The stores below never see a
 * plaintext secret; everything above never sees a sealed one.
 */
export function withSealedSecrets(store: Store, box: SecretBox): Store {
  const openEndpoint = (e: Endpoint): Endpoint => ({
    ...e,
    secrets: e.secrets.map((s) => ({ ...s, key: box.open(s.key) })),
  });
  const sealConfig = (config: Record<string, unknown>) =>
    typeof config.secret === 'string' ? { ...config, secret: box.seal(config.secret) } : config;
  const openSource = (s: Source): Source =>
    typeof s.config.secret === 'string'
      ? { ...s, config: { ...s.config, secret: box.open(s.config.secret) } }
      : s;
  const openSourceOrNull = (s: Source | null) => (s ? openSource(s) : null);

  return {
    ...store,
    createEndpoint: async (appId, input) =>
      openEndpoint(await store.createEndpoint(appId, { ...input, secret: box.seal(input.secret) })),
    getEndpoint: async (appId, idOrUid) => {
      const e = await store.getEndpoint(appId, idOrUid);
      return e ? openEndpoint(e) : null;
    },
    listEndpoints: async (appId, page) => {
      const p = await store.listEndpoints(appId, page);
      return { ...p, data: p.data.map(openEndpoint) };
    },
    updateEndpoint: async (appId, id, input, rotate) =>
      openEndpoint(
        await store.updateEndpoint(appId, id, input, rotate && { ...rotate, key: box.seal(rotate.key) }),
      ),
    rotateEndpointSecret: (appId, id, rotation) =>
      store.rotateEndpointSecret(appId, id, { ...rotation, key: box.seal(rotation.key) }),
    listDeliveriesOfMessage: async (appId, msgId, page) => {
      const p = await store.listDeliveriesOfMessage(appId, msgId, page);
      return { ...p, data: p.data.map((d) => ({ ...d, endpoint: openEndpoint(d.endpoint) })) };
    },
    claimDue: async (request) =>
      (await store.claimDue(request)).map((d) => ({ ...d, secrets: d.secrets.map((k) => box.open(k)) })),
    createSource: async (input) =>
      openSource(await store.createSource({ ...input, config: sealConfig(input.config) })),
    getSource: async (idOrUid) => openSourceOrNull(await store.getSource(idOrUid)),
    listSources: async (page) => {
      const p = await store.listSources(page);
      return { ...p, data: p.data.map(openSource) };
    },
    updateSource: async (id, input) =>
      openSource(await store.updateSource(id, { ...input, config: sealConfig(input.config) })),
    rotateSourceToken: async (id, token) => openSource(await store.rotateSourceToken(id, token)),
  };
}
