import { randomUUID } from 'node:crypto';
import {
  call,
  createOrg,
  Org,
  Person,
  SalesHarness,
  salesSetup,
  tokenFor,
} from './support/sales-harness';

type Row = [stage: string, count: number, totalAmount: number];

const report = (rows: Row[]) => ({
  stages: rows.map(([stage, count, totalAmount]) => ({ stage, count, totalAmount })),
});

/** The pipeline per caller, over the harness organisation's deals (see DEALS there). */
const EXPECTED: Partial<Record<Person, Row[]>> = {
  rita: [
    ['prospecting', 1, 100],
    ['qualification', 0, 0],
    ['proposal', 0, 0],
    ['negotiation', 0, 0],
    ['won', 1, 250.5],
    ['lost', 0, 0],
  ],
  max: [
    ['prospecting', 0, 0],
    ['qualification', 1, 50],
    ['proposal', 0, 0],
    ['negotiation', 1, 2000.25],
    ['won', 1, 300],
    ['lost', 0, 0],
  ],
  mona: [
    ['prospecting', 1, 100],
    ['qualification', 1, 50],
    ['proposal', 1, 1000],
    ['negotiation', 1, 2000.25],
    ['won', 2, 550.5],
    ['lost', 1, 75.75],
  ],
  olga: [
    ['prospecting', 1, 10],
    ['qualification', 0, 0],
    ['proposal', 0, 0],
    ['negotiation', 0, 0],
    ['won', 1, 999.99],
    ['lost', 0, 0],
  ],
  ada: [
    ['prospecting', 2, 110],
    ['qualification', 1, 50],
    ['proposal', 2, 6000],
    ['negotiation', 1, 2000.25],
    ['won', 3, 1550.49],
    ['lost', 1, 75.75],
  ],
};

/** GET /reports/pipeline counts and sums exactly the deals each caller may see. */
describe('sales-api: pipeline report', () => {
  let h: SalesHarness;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    h = await salesSetup();
    org = await createOrg(h, 'report');
    other = await createOrg(h, 'report-other');
  });

  afterAll(async () => {
    await h.close();
  });

  const pipeline = async (token: string) =>
    (await call(h.app, 'get', '/reports/pipeline', token).expect(200)).body;

  it.each(Object.entries(EXPECTED))(
    'as %s has the exact count and total per stage',
    async (who, rows) => {
      expect(await pipeline(org.token[who as Person])).toEqual(report(rows));
    },
  );

  it('lists every stage with zeros for a caller who sees no deal', async () => {
    const token = tokenFor(org.tenantId, randomUUID(), 'rep');
    expect(await pipeline(token)).toEqual(
      report(
        ['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'].map((s) => [
          s,
          0,
          0,
        ]),
      ),
    );
  });

  it("follows changes at once and never counts another tenant's deals", async () => {
    await call(h.app, 'post', '/deals', other.token.ada, {
      accountId: other.accounts.main,
      title: 'big one elsewhere',
      amount: 1000000,
      stage: 'won',
      ownerId: other.user.rita,
    }).expect(201);
    expect(await pipeline(org.token.ada)).toEqual(report(EXPECTED.ada!));
    await call(h.app, 'patch', `/deals/${org.deal.d1}`, org.token.rita, {
      stage: 'won',
      amount: 0.01,
    }).expect(200);
    expect(await pipeline(org.token.rita)).toEqual(
      report([
        ['prospecting', 0, 0],
        ['qualification', 0, 0],
        ['proposal', 0, 0],
        ['negotiation', 0, 0],
        ['won', 2, 250.51],
        ['lost', 0, 0],
      ]),
    );
    const theirs = await pipeline(other.token.rita);
    expect(theirs.stages.find((s: { stage: string }) => s.stage === 'won')).toEqual({
      stage: 'won',
      count: 2,
      totalAmount: 1000250.5,
    });
  });
});
