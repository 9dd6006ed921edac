import { expect } from 'chai';
import { mock } from 'node:test';
import { ProgressDeadline } from '../../../src/core/hosts/progress-deadline.js';

const startedLine = 'graft-host: started';
const workingLine = 'graft-host: working';

describe('the deadline of a host-tool step that queues (progress-deadline)', () => {
  let expired: string[];
  let deadline: ProgressDeadline;

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    expired = [];
    deadline = new ProgressDeadline({ queueMs: 900_000, stepMs: 60_000, startedLine, workingLine, label: 'h1: pool-delete', onExpire: (m) => expired.push(m) });
  });
  afterEach(() => {
    deadline.stop();
    mock.timers.reset();
  });

  it('given a step waiting for its turn, then only the queue bound ends it, and the message says it never got the lock', () => {
    mock.timers.tick(899_999);
    expect(expired).to.deep.equal([]);
    mock.timers.tick(1);
    expect(expired).to.have.length(1);
    expect(expired[0]).to.match(/^h1: pool-delete waited 15 min for its turn/);
  });

  it('given a started step that says it is still working, then it runs past the step deadline for as long as it makes progress, and ends a step after the last sign', () => {
    mock.timers.tick(300_000);
    deadline.feed(`${startedLine}\n`);
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(59_000);
      deadline.feed(`${workingLine}\n`);
    }
    expect(expired, 'ten minutes of progress').to.deep.equal([]);
    mock.timers.tick(59_999);
    expect(expired).to.deep.equal([]);
    mock.timers.tick(1);
    expect(expired).to.have.length(1);
    expect(expired[0]).to.match(/^h1: pool-delete timed out after 60000 ms without progress/);
  });

  it('given lines split between chunks and other output between them, then each is still heard once', () => {
    deadline.feed('account graft-x-1 /home/x\ngraft-host: sta');
    deadline.feed('rted\n');
    mock.timers.tick(59_000);
    deadline.feed('deleted graft-x-1\ngraft-host: work');
    mock.timers.tick(500);
    deadline.feed('ing\n');
    mock.timers.tick(59_999);
    expect(expired).to.deep.equal([]);
    mock.timers.tick(1);
    expect(expired).to.have.length(1);
  });

  it('given a working line before the step started, then it does not start the step deadline (only the started line does)', () => {
    deadline.feed(`${workingLine}\n`);
    mock.timers.tick(60_000);
    expect(expired).to.deep.equal([]);
  });

  it('given a step that ended, then no deadline fires', () => {
    deadline.feed(`${startedLine}\n`);
    deadline.stop();
    mock.timers.tick(3_600_000);
    expect(expired).to.deep.equal([]);
  });
});
