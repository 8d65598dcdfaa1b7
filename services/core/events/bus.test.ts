import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getNats, type TestNats } from '../../../test/harness/nats.js';
import {
  MemoryEventBus,
  NatsEventBus,
  KvConflictError,
  InvalidSubjectError,
  jobSubject,
  workSubject,
  subjectMatches,
  parseJobSubject,
  kindToProto,
  kindFromProto,
  ProgressReporter,
  type EventBus,
  type JobEvent,
  type KvWatchEvent,
} from './index.js';

async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ev(jobId: string, stage: string, kind: JobEvent['kind']): JobEvent {
  return { jobId, stage, kind, timestampMs: Date.now() };
}

function busContract(name: string, open: () => Promise<EventBus>, teardown: (bus: EventBus) => Promise<void>): void {
  describe(`${name} event bus`, () => {
    let bus: EventBus;
    before(async () => {
      bus = await open();
    });
    after(async () => {
      await teardown(bus);
    });

    test('subscriptions honour * and > wildcards', async () => {
      const all: string[] = [];
      const j1: string[] = [];
      const calib: string[] = [];
      const u1 = await bus.subscribe('modelopt.jobs.>', (_e, s) => void all.push(s));
      const u2 = await bus.subscribe('modelopt.jobs.j1.>', (_e, s) => void j1.push(s));
      const u3 = await bus.subscribe('modelopt.jobs.*.calibrate.*', (e, s) => {
        assert.equal(e.stage, 'calibrate');
        calib.push(s);
      });
      const subjects = [
        jobSubject('j1', 'prepare', 'started'),
        jobSubject('j1', 'calibrate', 'progress'),
        jobSubject('j2', 'calibrate', 'completed'),
        jobSubject('j2', 'export', 'failed'),
      ];
      for (const s of subjects) {
        const p = parseJobSubject(s)!;
        await bus.publish(s, ev(p.jobId, p.stage, p.kind));
      }
      await waitFor(() => all.length === 4 && j1.length === 2 && calib.length === 2, 5000, 'wildcard deliveries');
      await sleep(50);
      assert.deepEqual(all, subjects);
      assert.deepEqual(j1, subjects.slice(0, 2));
      assert.deepEqual(calib, [subjects[1], subjects[2]]);
      await u1();
      await u2();
      await u3();
      await bus.publish(subjects[0]!, ev('j1', 'prepare', 'started'));
      await sleep(50);
      assert.equal(all.length, 4, 'no delivery after unsubscribe');
      await assert.rejects(bus.publish('modelopt.jobs.*.x', ev('a', 'b', 'started')), InvalidSubjectError);
      await assert.rejects(bus.subscribe('modelopt.>.jobs', () => undefined), InvalidSubjectError);
    });

    test('history subscriptions replay retained events, then follow live ones', async () => {
      const job = `hist${randomBytes(3).toString('hex')}`;
      await bus.publish(jobSubject(job, 'prepare', 'started'), ev(job, 'prepare', 'started'));
      await bus.publish(jobSubject(job, 'prepare', 'completed'), ev(job, 'prepare', 'completed'));
      await bus.publish(jobSubject(`other${job}`, 'prepare', 'completed'), ev(`other${job}`, 'prepare', 'completed'));
      const got: string[] = [];
      const live: string[] = [];
      const stopHist = await bus.subscribe(`modelopt.jobs.${job}.>`, (e) => void got.push(`${e.stage}.${e.kind}`), { history: true });
      const stopLive = await bus.subscribe(`modelopt.jobs.${job}.>`, (e) => void live.push(`${e.stage}.${e.kind}`));
      await bus.publish(jobSubject(job, 'calibrate', 'started'), ev(job, 'calibrate', 'started'));
      await waitFor(() => got.length === 3 && live.length === 1, 5000, 'history + live events');
      await stopHist();
      await stopLive();
      assert.deepEqual(got, ['prepare.started', 'prepare.completed', 'calibrate.started']);
      assert.deepEqual(live, ['calibrate.started']);
    });

    test('stopping a consumer waits for its running handler', async () => {
      const service = `stop-${randomBytes(3).toString('hex')}`;
      let started = false;
      let finished = false;
      const c = await bus.consume(service, async () => {
        started = true;
        await sleep(300);
        finished = true;
      });
      await bus.enqueue(service, { slow: true });
      await waitFor(() => started, 5000, 'handler start');
      await c.stop();
      assert.equal(finished, true);
    });

    test('two consumers of one service share the work queue, each message handled once', async () => {
      const service = `share-${randomBytes(3).toString('hex')}`;
      const seen = new Map<number, string[]>();
      const handler = (who: string) => async (msg: { data: { n: number } }) => {
        await sleep(15);
        const list = seen.get(msg.data.n) ?? [];
        list.push(who);
        seen.set(msg.data.n, list);
      };
      const a = await bus.consume<{ n: number }>(service, handler('a'));
      const b = await bus.consume<{ n: number }>(service, handler('b'));
      for (let n = 0; n < 20; n++) await bus.enqueue(service, { n });
      await waitFor(() => seen.size === 20, 10_000, 'all 20 messages');
      await sleep(100);
      await a.stop();
      await b.stop();
      for (const [n, who] of seen) assert.equal(who.length, 1, `message ${n} handled ${who.length} times`);
      const byA = [...seen.values()].filter((w) => w[0] === 'a').length;
      assert.ok(byA > 0 && byA < 20, `both consumers got work (a=${byA}, b=${20 - byA})`);
    });

    test('messages enqueued before any consumer wait for one', async () => {
      const service = `late-${randomBytes(3).toString('hex')}`;
      await bus.enqueue(service, { hello: 'world' });
      const got: unknown[] = [];
      const c = await bus.consume(service, async (m) => void got.push(m.data));
      await waitFor(() => got.length === 1, 5000, 'late consumer');
      await c.stop();
      assert.deepEqual(got, [{ hello: 'world' }]);
    });

    test('nak and handler errors cause redelivery; maxDeliver bounds it', async () => {
      const service = `redeliver-${randomBytes(3).toString('hex')}`;
      const deliveries: Array<{ id: string; count: number }> = [];
      const done: string[] = [];
      const c = await bus.consume<{ id: string }>(
        service,
        async (m) => {
          deliveries.push({ id: m.data.id, count: m.deliveryCount });
          if (m.data.id === 'nak' && m.deliveryCount === 1) return m.nak(50);
          if (m.data.id === 'throw' && m.deliveryCount < 3) throw new Error('transient');
          if (m.data.id === 'poison') throw new Error('always fails');
          done.push(m.data.id);
        },
        { maxDeliver: 3, nakDelayMs: 20, onError: () => undefined },
      );
      await bus.enqueue(service, { id: 'nak' });
      await bus.enqueue(service, { id: 'throw' });
      await bus.enqueue(service, { id: 'poison' });
      await waitFor(() => done.length === 2 && deliveries.filter((d) => d.id === 'poison').length === 3, 10_000, 'redeliveries');
      await sleep(400);
      await c.stop();
      assert.deepEqual(done.sort(), ['nak', 'throw']);
      assert.deepEqual(deliveries.filter((d) => d.id === 'nak').map((d) => d.count), [1, 2]);
      assert.deepEqual(deliveries.filter((d) => d.id === 'throw').map((d) => d.count), [1, 2, 3]);
      assert.deepEqual(deliveries.filter((d) => d.id === 'poison').map((d) => d.count), [1, 2, 3], 'poison stops at maxDeliver');
      if (bus instanceof NatsEventBus) {
        // nothing is left behind in the work-queue stream for this service
        const jsm = await bus.nc.jetstreamManager();
        const info = await jsm.streams.info(bus.workStream, { subjects_filter: `>` });
        const left = Object.keys(info.state.subjects ?? {}).filter((sub) => sub.endsWith(`.${service}`));
        assert.deepEqual(left, []);
      }
    });

    test('an unacknowledged message is redelivered after ackWait', async () => {
      const service = `ackwait-${randomBytes(3).toString('hex')}`;
      const counts: number[] = [];
      const c = await bus.consume(
        service,
        async (m) => {
          counts.push(m.deliveryCount);
          if (m.deliveryCount === 1) await sleep(1600); // outlives ackWait; the ack that follows is too late
        },
        { ackWaitMs: 1000, concurrency: 2 },
      );
      await bus.enqueue(service, { x: 1 });
      await waitFor(() => counts.length >= 2, 8000, 'redelivery after ack wait');
      await sleep(800);
      await c.stop();
      assert.deepEqual(counts.slice(0, 2), [1, 2]);
    });

    test('enqueue with the same msgId is de-duplicated', async () => {
      const service = `dedupe-${randomBytes(3).toString('hex')}`;
      const got: unknown[] = [];
      const c = await bus.consume(service, async (m) => void got.push(m.data));
      await bus.enqueue(service, { v: 1 }, { msgId: 'same' });
      await bus.enqueue(service, { v: 2 }, { msgId: 'same' });
      await bus.enqueue(service, { v: 3 }, { msgId: 'other' });
      await waitFor(() => got.length >= 2, 5000, 'deduped deliveries');
      await sleep(150);
      await c.stop();
      assert.deepEqual(got, [{ v: 1 }, { v: 3 }]);
    });

    test('KV get/put/create/update/delete and watch', async () => {
      const prefix = `kvt${randomBytes(3).toString('hex')}`;
      assert.equal(await bus.kv.get(`${prefix}.a`), null);
      const r1 = await bus.kv.put(`${prefix}.a`, { state: 'running', n: 1 });
      const e1 = await bus.kv.get<{ state: string }>(`${prefix}.a`);
      assert.deepEqual(e1, { key: `${prefix}.a`, value: { state: 'running', n: 1 }, revision: r1 });
      await assert.rejects(bus.kv.create(`${prefix}.a`, {}), KvConflictError);
      const r2 = await bus.kv.update(`${prefix}.a`, { state: 'done' }, r1);
      assert.ok(r2 > r1);
      await assert.rejects(bus.kv.update(`${prefix}.a`, { state: 'stale' }, r1), KvConflictError);
      assert.deepEqual((await bus.kv.get(`${prefix}.a`))!.value, { state: 'done' });
      const rb = await bus.kv.create(`${prefix}.b`, 'fresh');
      assert.ok(rb > r2);

      const events: KvWatchEvent[] = [];
      const stop = await bus.kv.watch(`${prefix}.*`, (e) => void events.push(e));
      await waitFor(() => events.length === 2, 5000, 'existing values');
      assert.deepEqual(events.map((e) => [e.key, e.op]), [[`${prefix}.a`, 'put'], [`${prefix}.b`, 'put']]);
      await bus.kv.put(`${prefix}.c`, 3);
      await bus.kv.put(`other${prefix}.c`, 'not matched');
      await bus.kv.delete(`${prefix}.a`);
      await waitFor(() => events.length === 4, 5000, 'watched updates');
      assert.deepEqual(events.slice(2).map((e) => [e.key, e.op, e.value]), [[`${prefix}.c`, 'put', 3], [`${prefix}.a`, 'delete', null]]);
      assert.equal(await bus.kv.get(`${prefix}.a`), null);
      await stop();

      const updatesOnly: KvWatchEvent[] = [];
      const stop2 = await bus.kv.watch(`${prefix}.>`, (e) => void updatesOnly.push(e), { includeExisting: false });
      await bus.kv.put(`${prefix}.d.e`, true);
      await waitFor(() => updatesOnly.length === 1, 5000, 'updates-only watch');
      await stop2();
      assert.equal(updatesOnly[0]!.key, `${prefix}.d.e`);
      await assert.rejects(bus.kv.put('bad key', 1), InvalidSubjectError);
    });
  });
}

busContract(
  'memory',
  async () => new MemoryEventBus(),
  async (bus) => bus.close(),
);

let nats: TestNats | undefined;
busContract(
  'NATS JetStream',
  async () => {
    nats = await getNats();
    return NatsEventBus.connect({ servers: nats.url, namespace: `t${process.pid}${randomBytes(3).toString('hex')}` });
  },
  async (bus) => {
    await (bus as NatsEventBus).destroyResources();
    await bus.close();
    await nats?.stop();
  },
);

describe('subjects and progress', () => {
  test('subject helpers', () => {
    assert.equal(jobSubject('abc', 'calibrate', 'progress'), 'modelopt.jobs.abc.calibrate.progress');
    assert.equal(workSubject('graph-analyzer'), 'modelopt.work.graph-analyzer');
    assert.throws(() => jobSubject('a.b', 'x', 'started'), InvalidSubjectError);
    assert.throws(() => workSubject('*'), InvalidSubjectError);
    assert.ok(subjectMatches('a.*.c', 'a.b.c'));
    assert.ok(!subjectMatches('a.*.c', 'a.b.d'));
    assert.ok(subjectMatches('a.>', 'a.b.c'));
    assert.ok(!subjectMatches('a.>', 'a'));
    assert.ok(!subjectMatches('a.*', 'a.b.c'));
    assert.deepEqual(parseJobSubject('modelopt.jobs.j.s.failed'), { jobId: 'j', stage: 's', kind: 'failed' });
    assert.equal(parseJobSubject('modelopt.work.x'), null);
    assert.equal(kindToProto('completed'), 'JOB_EVENT_KIND_COMPLETED');
    assert.equal(kindFromProto('JOB_EVENT_KIND_STARTED'), 'started');
  });

  test('ProgressReporter throttles and coalesces', async () => {
    const bus = new MemoryEventBus();
    const got: JobEvent[] = [];
    await bus.subscribe('modelopt.jobs.j9.calibrate.progress', (e) => void got.push(e));
    let now = 1000;
    const rep = new ProgressReporter(bus, 'j9', 'calibrate', { minIntervalMs: 100, now: () => now, source: 'calibrator-0' });
    rep.report(0.1, 'batch 1');
    now += 10;
    rep.report(0.2, 'batch 2'); // coalesced
    now += 10;
    rep.report(0.3, 'batch 3', { done: 3, total: 10 }); // coalesced, replaces batch 2
    await rep.flush();
    now += 10;
    rep.report(1, 'done'); // final always goes out
    rep.report(1.5, 'clamped');
    await rep.flush();
    await waitFor(() => got.length === 4);
    assert.deepEqual(got.map((e) => e.progress), [
      { fraction: 0.1, message: 'batch 1' },
      { fraction: 0.3, message: 'batch 3', done: 3, total: 10 },
      { fraction: 1, message: 'done' },
      { fraction: 1, message: 'clamped' },
    ]);
    assert.equal(got[0]!.source, 'calibrator-0');
    assert.equal(got[0]!.kind, 'progress');
    assert.equal(rep.sent, 4);
    await bus.close();
  });
});
