/**
 * A task's output, read from the file its wrapper writes on the host. However much a task
 * prints (a runaway `yes`), graft reads, keeps and shows at most the last `maxLogBytes` of it,
 * after a marker saying how much there was: its memory and the session directory stay bounded.
 */
import type { HostShell } from '../hosts/host-shell.js';
import { taskDir } from './task-process.js';

/** Output beyond this is not read back: logs keep the end, after a marker saying what was dropped. */
export const maxLogBytes = 8 * 1024 * 1024;

/** The line that stands for output that was dropped. */
export function droppedMarker(totalBytes: number | string): string {
  return `[graft: output was ${totalBytes} bytes; only the last ${maxLogBytes} are kept]`;
}

export interface TaskLogRead {
  /** Wait for the file to appear (the attempt is starting) instead of printing nothing. */
  wait?: boolean;
  /** Keep printing what the process group leader `pid` writes until it exits (`tail -f`). */
  followPid?: number;
}

/** Shell (run as the agent) that prints the task's output: at most its last `maxLogBytes`, after the marker when there was more. */
export function taskLogCommand(read: TaskLogRead = {}): string {
  return [
    `f="$HOME"/${taskDir}/output.log`,
    read.wait ? 'while [ ! -f "$f" ]; do sleep 0.2; done' : '[ -f "$f" ] || exit 0',
    'size=$(wc -c < "$f")',
    `[ "$size" -le ${maxLogBytes} ] || echo "${droppedMarker('$size')}"`,
    read.followPid ? `exec tail -c ${maxLogBytes} -f --pid=${read.followPid} -s 0.5 "$f"` : `exec tail -c ${maxLogBytes} "$f"`,
  ].join('\n');
}

/** The attempt's output, at most `maxLogBytes` of its end, with a marker when more was written. */
export async function fetchTaskLog(shell: HostShell): Promise<Buffer> {
  const result = await shell.exec(taskLogCommand(), { timeoutMs: 120_000, maxBufferBytes: maxLogBytes + 4096 });
  return Buffer.from(result.stdout, 'utf8');
}

/** Keeps the last `maxLogBytes` of a stream (a followed log), and how much was dropped before them. */
export class LogTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private total = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.total += chunk.length;
    while (this.size - this.chunks[0]!.length >= maxLogBytes) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    const kept = Buffer.concat(this.chunks, this.size);
    const end = kept.subarray(Math.max(0, kept.length - maxLogBytes));
    return (end.length < this.total ? `${droppedMarker(this.total)}\n` : '') + end.toString('utf8');
  }
}
