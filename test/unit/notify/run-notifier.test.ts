import { expect } from 'chai';
import type { SessionCost } from '../../../src/core/dashboard/dashboard-view.js';
import type { FeedChange, SessionFeed } from '../../../src/core/dashboard/session-feed.js';
import { RunNotifier } from '../../../src/core/dashboard/run-notifier.js';
import type { Notification, WebhookSender } from '../../../src/core/notify/webhook-sender.js';

/** A feed that the test drives: the snapshot the notifier starts from, then changes one by one. */
function feedStartingAt(cost?: SessionCost) {
  let listener: ((change: FeedChange) => void) | undefined;
  const feed = {
    snapshot: () => ({ inbox: [], ...(cost ? { cost } : {}) }),
    subscribe: (l: (change: FeedChange) => void) => ((listener = l), () => (listener = undefined)),
  } as unknown as SessionFeed;
  return { feed, cost: (c: SessionCost) => listener!({ kind: 'cost', cost: c } as FeedChange) };
}

function notifierOn(feed: SessionFeed) {
  const sent: Notification[] = [];
  const sender = { send: (_targets: unknown, n: Notification) => sent.push(n) } as unknown as WebhookSender;
  const notifier = new RunNotifier('s1', feed, [{ url: 'http://127.0.0.1:1/hook' }], sender, 'http://127.0.0.1:2');
  return { notifier, events: () => sent.map((n) => `${n.event} ${String(n.data?.spentUsd)}/${String(n.data?.budgetUsd)}`) };
}

describe('notify: budget notifications from the session cost', () => {
  it('given spend rising past 80% and then past the budget, then each crossing is announced once', () => {
    const { feed, cost } = feedStartingAt();
    const { notifier, events } = notifierOn(feed);
    for (const spentUsd of [1, 7.9, 8, 8.5, 9.99, 10, 12]) cost({ spentUsd, budgetUsd: 10 });
    notifier.stop();
    expect(events()).to.deep.equal(['budget.warning 8/10', 'budget.exceeded 10/10']);
  });

  it('given a budget raised by extend, then the new budget is announced afresh; a session without budget or price is never', () => {
    const { feed, cost } = feedStartingAt();
    const { notifier, events } = notifierOn(feed);
    cost({ spentUsd: 11 });
    cost({ spentUsd: null, budgetUsd: 10 });
    cost({ spentUsd: 11, budgetUsd: 10 });
    cost({ spentUsd: 11, budgetUsd: 20 });
    cost({ spentUsd: 17, budgetUsd: 20 });
    notifier.stop();
    expect(events()).to.deep.equal(['budget.exceeded 11/10', 'budget.warning 17/20']);
  });

  it('given a resumed run already past 80%, then that crossing is not announced again, the next one is', () => {
    const { feed, cost } = feedStartingAt({ spentUsd: 9, budgetUsd: 10 });
    const { notifier, events } = notifierOn(feed);
    cost({ spentUsd: 9.5, budgetUsd: 10 });
    cost({ spentUsd: 10.5, budgetUsd: 10 });
    notifier.stop();
    expect(events()).to.deep.equal(['budget.exceeded 10.5/10']);
  });
});
