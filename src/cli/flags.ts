import { Flags } from '@oclif/core';

/** `--session`, shared by every command that works on one session. */
export const sessionFlag = Flags.string({ char: 's', description: 'Session id (default: the most recent live one).', env: 'GRAFT_SESSION' });
