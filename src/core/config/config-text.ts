import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Why a configuration file cannot be read: the message completes "FILE: …"; `code` is the errno or ENOTREG, EFBIG. */
export class UnreadableConfigFile extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'UnreadableConfigFile';
  }
}

/**
 * Reads a configuration file (graph, inventory, known_hosts) as UTF-8 text. Only regular files
 * of at most `maxBytes` are read: a device such as /dev/zero never ends and a FIFO blocks until
 * someone writes to it, so a path pointing at one would hang graft; a file of many megabytes is
 * not configuration written by hand. The bound holds while reading too: files under /proc say
 * they are empty and can hold gigabytes (/proc/self/pagemap). Throws UnreadableConfigFile.
 */
export function readConfigText(file: string, maxBytes: number): string {
  try {
    const info = statSync(file);
    if (info.isDirectory()) throw new UnreadableConfigFile('is a directory, not a file', 'EISDIR');
    if (!info.isFile()) throw new UnreadableConfigFile('is not a regular file (a device, pipe or socket cannot be read as configuration)', 'ENOTREG');
    const tooBig = (size: string) =>
      new UnreadableConfigFile(`is ${size} bytes; the limit is ${maxBytes} bytes (${maxBytes / 1024} KiB). Is this the right file?`, 'EFBIG');
    if (info.size > maxBytes) throw tooBig(String(info.size));
    const bytes = Buffer.alloc(maxBytes + 1);
    let length = 0;
    const fd = openSync(file, 'r');
    try {
      for (let n = 1; n > 0 && length <= maxBytes; length += n) n = readSync(fd, bytes, length, bytes.length - length, null);
    } finally {
      closeSync(fd);
    }
    if (length > maxBytes) throw tooBig(`more than ${maxBytes}`);
    return bytes.toString('utf8', 0, length);
  } catch (error) {
    if (error instanceof UnreadableConfigFile) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UnreadableConfigFile(
      code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : `cannot read the file: ${(error as Error).message}`,
      code,
    );
  }
}
