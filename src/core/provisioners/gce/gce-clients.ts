import compute from '@google-cloud/compute';
import { UsageError } from '../../errors.js';

/** The two Compute Engine clients graft uses. */
export interface GceClients {
  instances: compute.InstancesClient;
  zoneOperations: compute.ZoneOperationsClient;
}

/** Points graft at a Compute Engine emulator (graft's fake server in tests): `http://127.0.0.1:PORT`. */
export const gceEndpointVariable = 'GRAFT_GCE_ENDPOINT';

/**
 * The clients, with Google application default credentials (gcloud auth application-default
 * login, GOOGLE_APPLICATION_CREDENTIALS, a workload's service account); graft stores none.
 * With GRAFT_GCE_ENDPOINT (an emulator on loopback) they speak plain HTTP/JSON to it with an
 * auth client that sends no credentials, so nothing looks for a metadata server.
 */
export function createGceClients(env: NodeJS.ProcessEnv): GceClients {
  const endpoint = env[gceEndpointVariable];
  const options = endpoint ? emulatorOptions(endpoint) : {};
  return { instances: new compute.InstancesClient(options), zoneOperations: new compute.ZoneOperationsClient(options) };
}

function emulatorOptions(endpoint: string) {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`${gceEndpointVariable}=${endpoint} is not a URL`, ['Use e.g. http://127.0.0.1:8089 (an emulator on this machine).']);
  }
  if (url.protocol !== 'http:' || !/^(127\.\d+\.\d+\.\d+|localhost)$/.test(url.hostname) || !url.port) {
    throw new UsageError(`${gceEndpointVariable} must be http://127.x.y.z:PORT: it is for emulators on this machine, and sends no credentials`);
  }
  return { apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http', fallback: true as const, authClient: noCredentials() as never };
}

/**
 * The smallest auth client google-gax's REST transport accepts: it adds no header and fetches
 * with Node's own fetch. For emulators only.
 */
export function noCredentials() {
  const client = {
    universeDomain: 'googleapis.com',
    getClient: async () => client,
    getRequestHeaders: async () => new Headers(),
    fetch: (url: string, init: { method?: string; headers?: HeadersInit; body?: BodyInit; signal?: AbortSignal }) =>
      fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal }),
  };
  return client;
}
