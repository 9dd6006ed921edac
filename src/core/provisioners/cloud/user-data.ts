import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument, visit } from 'yaml';
import { BugError } from '../../errors.js';
import { assetPath } from '../../package-assets.js';
import { parsePublicKeyLine } from '../../ssh/index.js';

/** provisioners/cloud-init of graft's package, wherever this code runs from. */
export const cloudInitDir = assetPath('provisioners', 'cloud-init');

/** What a session VM's first boot needs to know. */
export interface BootSettings {
  session: string;
  host: string;
  /** The admin account cloud-init creates: `graft-<session>`. */
  adminUser: string;
  /** The session admin key's public line. */
  adminPublicKey: string;
  expires: Date;
}

/**
 * Renders provisioners/cloud-init/user-data.yaml for one VM. The template is parsed first and
 * placeholders are replaced inside string values only, then the document is written out again
 * by the YAML library: no value can break the YAML. Values also land in a file the boot script
 * sources, so each is checked against a narrow pattern here (a bug upstream would be refused,
 * never written onto a VM).
 */
export function renderUserData(settings: BootSettings, dir: string = cloudInitDir): string {
  const values: Record<string, string> = {
    GRAFT_SESSION: checked('session', settings.session, /^[a-z][a-z0-9]{0,31}$/),
    GRAFT_HOST: checked('host', settings.host, /^[a-z][a-z0-9-]{0,62}$/),
    GRAFT_ADMIN_USER: checked('admin user', settings.adminUser, /^graft-[a-z0-9-]{1,26}$/),
    GRAFT_ADMIN_KEY: checked('admin key', settings.adminPublicKey.trim(), /^[a-z0-9-]+ [A-Za-z0-9+/=]+( [A-Za-z0-9@._-]+)?$/),
    GRAFT_EXPIRES_AT: String(Math.floor(settings.expires.getTime() / 1000)),
  };
  parsePublicKeyLine(values.GRAFT_ADMIN_KEY!);
  const document = parseDocument(readFileSync(join(dir, 'user-data.yaml'), 'utf8'));
  visit(document, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string') return;
      const file = /^@file:([a-z0-9.-]+)@$/.exec(node.value);
      if (file) {
        node.value = readFileSync(join(dir, file[1]!), 'utf8');
        node.type = 'BLOCK_LITERAL';
        return;
      }
      node.value = node.value.replace(/@(GRAFT_[A-Z_]+)@/g, (whole, name: string) => {
        const value = values[name];
        if (value === undefined) throw new BugError(`user-data.yaml names an unknown placeholder ${whole}`);
        return value;
      });
    },
  });
  // The header is what makes cloud-init read the document as cloud-config; the template's own
  // comments are for its readers, not worth bytes of user-data (16 KiB at most on EC2).
  document.commentBefore = 'cloud-config';
  const first = isMap(document.contents) ? document.contents.items[0]?.key : undefined;
  if (isScalar(first)) first.commentBefore = null;
  return document.toString({ lineWidth: 0 });
}

function checked(what: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new BugError(`refusing to write ${what} "${value.slice(0, 40)}" into user-data`);
  return value;
}
