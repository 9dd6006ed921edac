import type { Command } from '@oclif/core/command';
import { Help } from '@oclif/core/help';
import { ExitCode, errorCodes, exitCodeMeanings } from '../core/errors.js';

/**
 * graft's help: oclif's, with the exit codes under every command and, under `graft --help`, the
 * error codes each exit code covers (errorCodes in core/errors.ts, the one table), as
 * sf-plugins-core lists a command's error codes. Named in package.json's oclif.helpClass.
 */
export default class GraftHelp extends Help {
  protected override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${this.section('EXIT CODES', exitCodeRows())}\n  Error codes by exit code: graft --help. With --json, a failure's code is error.code.`;
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp();
    this.log(this.section('EXIT CODES', exitCodeRows()));
    this.log('');
    this.log(this.section('ERROR CODES (error.code with --json)', errorCodeRows()));
    this.log('');
  }
}

function exitCodeRows(): [string, string][] {
  return (Object.keys(ExitCode) as (keyof typeof ExitCode)[])
    .sort((a, b) => ExitCode[a] - ExitCode[b])
    .map((name) => [String(ExitCode[name]), exitCodeMeanings[name]]);
}

function errorCodeRows(): [string, string][] {
  const rows = Object.entries(errorCodes).map(([code, [exit, meaning]]) => [code, `${String(ExitCode[exit]).padEnd(4)}${meaning}`] as [string, string]);
  rows.push(['EC2_* GCE_*', `${String(ExitCode.provider).padEnd(4)}a cloud API's own error code`]);
  return rows;
}
