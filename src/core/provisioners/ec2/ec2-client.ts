import { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Settings } from './ec2-settings.js';

/**
 * The EC2 client graft uses: credentials and (when --region is not given) the region from
 * the AWS SDK's standard chains (environment, shared config and profiles, SSO, instance
 * roles); graft stores none. Throttling is the SDK's job: adaptive retry mode backs off on
 * `RequestLimitExceeded` and rate-limits the client itself. `AWS_ENDPOINT_URL_EC2` (the SDK's
 * own setting) points it at an emulator such as moto.
 */
export function createEc2Client(settings: Pick<Ec2Settings, 'region'>): EC2Client {
  // The SDK's own switch for its notice about future Node versions, which would otherwise be
  // printed on every cloud command of a CLI whose users cannot act on it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new EC2Client({ ...(settings.region ? { region: settings.region } : {}), maxAttempts: 8, retryMode: 'adaptive' });
}
