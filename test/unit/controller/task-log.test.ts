import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { droppedMarker, LogTail, maxLogBytes, taskLogCommand } from '../../../src/core/controller/task-log.js';
import { taskDir } from '../../../src/core/controller/task-process.js';

/** Runs the log command with `sh` against a home holding `output` as the task's output file. */
function readLog(output: Buffer | undefined): Buffer {
  const home = mkdtempSync(join(tmpdir(), 'graft-task-log-'));
  try {
    mkdirSync(join(home, taskDir), { recursive: true });
    if (output) writeFileSync(join(home, taskDir, 'output.log'), output);
    return execFileSync('sh', ['-c', taskLogCommand()], { env: { ...process.env, HOME: home }, maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

describe('task output: read from its end, bounded', () => {
  it('given output within the limit, when read, then all of it comes back as written', () => {
    expect(readLog(Buffer.from('line 1\nline 2\n')).toString()).to.equal('line 1\nline 2\n');
    expect(readLog(undefined).length).to.equal(0);
  });

  it('given a flood beyond the limit, when read, then only its last maxLogBytes come back, after a marker saying how much there was', () => {
    const flood = Buffer.alloc(maxLogBytes + 12_345, 'y');
    flood.write('THE END\n', flood.length - 8);
    const read = readLog(flood);
    const marker = `${droppedMarker(flood.length)}\n`;
    expect(read.subarray(0, marker.length).toString()).to.equal(marker);
    expect(read.length).to.equal(marker.length + maxLogBytes);
    expect(read.subarray(-8).toString()).to.equal('THE END\n');
  });

  it('given a followed stream longer than the limit, when kept, then its end is kept after a marker', () => {
    const tail = new LogTail();
    tail.push(Buffer.from('first\n'));
    expect(tail.text()).to.equal('first\n');
    for (let i = 0; i < 9; i += 1) tail.push(Buffer.alloc(1024 * 1024, 'z'));
    tail.push(Buffer.from('last\n'));
    const text = tail.text();
    expect(text.startsWith(`${droppedMarker(6 + 9 * 1024 * 1024 + 5)}\n`)).to.equal(true);
    expect(text.length).to.equal(`${droppedMarker(6 + 9 * 1024 * 1024 + 5)}\n`.length + maxLogBytes);
    expect(text.endsWith('zzlast\n')).to.equal(true);
  });
});
