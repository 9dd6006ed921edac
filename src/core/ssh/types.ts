import type { Readable } from 'node:stream';

/** How to reach one account on one host over SSH. */
export interface SshEndpoint {
  /** Name used in messages and errors, e.g. the host's name in the session. */
  label: string;
  host: string;
  port: number;
  username: string;
  /**
   * Acceptable host public keys in OpenSSH format (`ssh-ed25519 AAAA... [comment]`).
   * A connection whose server key is not among them is refused; an empty list is refused too.
   */
  hostKeys: string[];
  /** Private key (OpenSSH or PEM text). */
  privateKey?: string | Buffer;
  /**
   * The file the private key comes from: named in errors about the key, and read (and
   * validated) at connect time when `privateKey` is not given.
   */
  privateKeyFile?: string;
  passphrase?: string;
  /** Path of an ssh-agent socket, used when no private key is given. */
  agent?: string;
  /**
   * The jump host (bastion) this endpoint is reached through, `ssh -J` style: graft logs in to it
   * (its own host keys pinned, its own login) and opens a direct-tcpip channel to `host:port`
   * from there. A jump may have a jump of its own, for a chain of bastions.
   */
  jump?: SshEndpoint;
}

export interface ExecOptions {
  /** Kill the command and reject after this many ms. Default: none. */
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** The command's standard input; a stream is piped (with the channel's flow control) and then closed. */
  stdin?: string | Buffer | Readable;
  /** Bytes of stdout/stderr kept in the result; the rest is dropped and `truncated` set. Default 1 MiB each. */
  maxBufferBytes?: number;
  /**
   * Aborting kills the remote command (SIGKILL to its process group) and rejects with the
   * signal's reason; through the pool it also bounds connecting, so one signal is one deadline.
   */
  signal?: AbortSignal;
}

export interface ExecResult {
  /** Exit code, or null when the command died of a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  truncated: boolean;
}
