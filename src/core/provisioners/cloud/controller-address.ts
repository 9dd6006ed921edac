import { ProviderError } from '../../errors.js';

/** Where graft asks for its own public address when the user did not give --ssh-from. */
const CHECK_IP_URL = 'https://checkip.amazonaws.com';

/**
 * The address block a session's firewall admits SSH from: the one given, or the
 * controller's public IPv4 address as a /32, asked of a what-is-my-IP service. A controller
 * behind changing NAT addresses should give --ssh-from.
 */
export async function controllerCidr(given: string | undefined, fetchImpl: typeof fetch = fetch): Promise<string> {
  if (given) return given;
  try {
    const response = await fetchImpl(CHECK_IP_URL, { signal: AbortSignal.timeout(10_000) });
    const ip = (await response.text()).trim();
    if (response.ok && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return `${ip}/32`;
    throw new Error(`unexpected answer ${response.status}: ${ip.slice(0, 40)}`);
  } catch (error) {
    throw new ProviderError(`cannot find this machine's public address to admit SSH from (${CHECK_IP_URL}: ${(error as Error).message})`, {
      code: 'CLOUD_NO_CONTROLLER_ADDRESS',
      cause: error,
      actions: ['Give it: --ssh-from 203.0.113.7/32 (the address the VMs will see this machine connect from).'],
    });
  }
}
