import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import {
  EntitySubscriberInterface,
  EventSubscriber,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  TransactionStartEvent,
} from 'typeorm';
import { TenantQueryRunner } from '@app/tenancy';
import { get, notesSetup, notesTenant, NotesTenant, post } from './fixtures/notes.harness';

/** Every transaction event TypeORM fired on a tenant scope's runner, in order. */
const seen: string[] = [];

/** An app's own subscriber: records the transaction events of tenant scopes. */
@EventSubscriber()
class RecordingSubscriber implements EntitySubscriberInterface {
  private record(name: string, event: { queryRunner: unknown }): void {
    if (event.queryRunner instanceof TenantQueryRunner) seen.push(name);
  }
  beforeTransactionStart(e: TransactionStartEvent) {
    this.record('beforeStart', e);
  }
  afterTransactionStart(e: TransactionStartEvent) {
    this.record('afterStart', e);
  }
  beforeTransactionCommit(e: TransactionCommitEvent) {
    this.record('beforeCommit', e);
  }
  afterTransactionCommit(e: TransactionCommitEvent) {
    this.record('afterCommit', e);
  }
  beforeTransactionRollback(e: TransactionRollbackEvent) {
    this.record('beforeRollback', e);
  }
  afterTransactionRollback(e: TransactionRollbackEvent) {
    this.record('afterRollback', e);
  }
}

/** Waits until `n` events were recorded (a read-only pipelined COMMIT confirms after the response). */
async function eventsAfter(n: number): Promise<string[]> {
  for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  return [...seen];
}

/**
 * A user's TypeORM subscribers see the same transaction events in serial and pipelined mode: the
 * scope's begin, commit and rollback fire TypeORM's events as TypeORM's own runner fires them.
 */
for (const pipeline of [false, true]) {
  describe(`tenant scopes fire TypeORM's transaction events (${pipeline ? 'pipelined' : 'serial'})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ pipeline, subscribers: [RecordingSubscriber] }));
      a = await notesTenant(owner, `ev-${pipeline ? 'p' : 's'}`, ['a-one']);
      seen.splice(0); // the previous describe's last events, so that eventsAfter(4) waits for ours
      await get(app, '/notes/noop', a.token).expect(200); // caches the tenant's status
      await eventsAfter(4);
    });

    beforeEach(() => void seen.splice(0));

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    it('a read: start, then commit', async () => {
      await get(app, '/notes/repository', a.token).expect(200);
      expect(await eventsAfter(4)).toEqual([
        'beforeStart',
        'afterStart',
        'beforeCommit',
        'afterCommit',
      ]);
    });

    it('a write: start, then commit', async () => {
      await post(app, '/notes', a.token, { title: `ev-${pipeline}` }).expect(201);
      expect(await eventsAfter(4)).toEqual([
        'beforeStart',
        'afterStart',
        'beforeCommit',
        'afterCommit',
      ]);
    });

    it('a handler that fails after writing: start, then rollback', async () => {
      await post(app, '/notes/fail-after-write', a.token, { title: 'ev-fail' }).expect(500);
      expect(await eventsAfter(4)).toEqual([
        'beforeStart',
        'afterStart',
        'beforeRollback',
        'afterRollback',
      ]);
    });

    it('a nested transaction: its savepoint fires its own start and commit inside the scope', async () => {
      await post(app, '/notes/nested', a.token, { prefix: `ev-n-${pipeline}` }).expect(201);
      expect(await eventsAfter(10)).toEqual([
        'beforeStart',
        'afterStart',
        'beforeStart',
        'afterStart',
        'beforeStart',
        'afterStart',
        'beforeRollback',
        'afterRollback',
        'beforeCommit',
        'afterCommit',
        'beforeCommit',
        'afterCommit',
      ]);
    });

    it('a handler that sends no query fires nothing', async () => {
      await get(app, '/notes/noop', a.token).expect(200);
      expect(await eventsAfter(1)).toEqual([]);
    });
  });
}
