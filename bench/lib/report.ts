import { BenchResults, HTTP_THROUGHPUT_TARGETS, HttpMetric, TargetCheck } from './results';

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en') : 'n/a');
const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : 'n/a');
const ok = (met: boolean, aim?: boolean) =>
  met ? (aim === false ? 'met (aim missed)' : 'met') : '**missed**';

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** " (N s for <route>, ...: why)" naming the routes whose rounds were lengthened, else "". */
function longer(
  http: { label: string; roundSeconds: number }[],
  sizes: { roundSeconds: number; minRequestsPerRound: number },
): string {
  const slow = http.filter((h) => h.roundSeconds > sizes.roundSeconds);
  if (!slow.length) return '';
  return ` (${slow.map((h) => `${h.roundSeconds} s for ${h.label}`).join(', ')}: rounds lengthen until the slowest side completes ${sizes.minRequestsPerRound} requests, so that a few in-flight requests at a round's end do not decide its ratio)`;
}

/** The statement sequences of the round-trip table, one line per distinct sequence. */
function sequences(r: BenchResults): string[] {
  const names: Record<string, string> = { librarySerial: 'serial' };
  const bySequence = new Map<string, Map<string, string[]>>();
  for (const t of r.roundTrips) {
    for (const [side, v] of Object.entries(t.sides)) {
      const seq = v.statements.length ? v.statements.join(' → ') : '(none)';
      const routes = bySequence.get(seq) ?? new Map<string, string[]>();
      bySequence.set(
        seq,
        routes.set(t.label, [...(routes.get(t.label) ?? []), names[side] ?? side]),
      );
    }
  }
  return [...bySequence].map(
    ([seq, routes]) =>
      `- ${seq}: ${[...routes].map(([label, sides]) => `${label} (${sides.join(', ')})`).join('; ')}`,
  );
}

/** The results as Markdown: what BENCHMARKS.md shows between its result markers. */
export function resultsMarkdown(r: BenchResults, chartPath: string): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `Run of ${r.date} (${r.kind}${r.kind === 'quick' ? ': small data, not representative' : ''}), ${Math.round(r.durationSeconds)} s in all, data generated in ${Math.round(r.data.loadSeconds)} s.`,
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}. Node ${m.node}. ${r.postgres.version.split(',')[0]} (${r.postgres.source}). Everything (PostgreSQL, the apps, autocannon) shares the ${m.cpus} CPUs. 1-minute load average at start ${m.loadAverageAtStart}; per section (start → end): ${Object.entries(
      r.loadAverage,
    )
      .map(([k, [a, b]]) => `${k} ${a} → ${b}`)
      .join(', ')}.`,
    `Packages: ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    `Data: ${n0(r.data.tenants)} tenants, ${n0(r.data.tickets)} tickets (${r.data.largeTenants}), ${n0(r.data.deals)} deals in the big sales tenant, reporting tree of ${n0(r.data.tree.members)} members, ${r.data.tree.depth} levels below the top (the manager has ${n0(r.data.tree.managerBelow)} people below, the team lead ${r.data.tree.teamLeadBelow}).`,
    '',
  );

  const cpu = (x?: { appCpuUs: number; pgCpuUs?: number }) =>
    x ? `${n0(x.appCpuUs)} + ${x.pgCpuUs === undefined ? '?' : n0(x.pgCpuUs)}` : '';
  const delta = (a?: number, b?: number) =>
    a === undefined || b === undefined ? '?' : `${a >= b ? '+' : '−'}${n0(Math.abs(a - b))}`;
  if (r.http.length) {
    out.push(
      '#### HTTP: library vs the baseline',
      '',
      `autocannon, ${r.sizes.connections} connections, pool size ${r.sizes.poolSize} on every side, each app in its own process; ${r.sizes.rounds} rounds of ${r.sizes.roundSeconds} s per side after a ${r.sizes.warmupSeconds} s warm-up, the sides alternating within each round${longer(r.http, r.sizes)}. req/s: median of the rounds; **ratio**: median over rounds of library ÷ baseline req/s in the same round; latency: over every response of every round; CPU: µs per request of the app's process + PostgreSQL's processes (median of the rounds). Library: the real app (pipeline mode); serial: the same app with \`pipeline: false\`. Baseline: the same API by hand, its JWT key built once (\`createSecretKey\`) as the library builds its own. Naive baseline (an extra, no target): the same with the secret string passed as is, which jsonwebtoken tries to parse as a public key on every verify.`,
      '',
      table(
        [
          'route',
          'baseline req/s',
          'library req/s',
          '**ratio**',
          'baseline p50 / p99 ms',
          'library p50 / p99 ms',
          '**p99 ratio**',
          'CPU µs/req baseline',
          'CPU µs/req library',
          '**CPU µs/req over baseline** (app / PG)',
          'serial req/s (ratio)',
          'serial p99 ms (ratio)',
          'naive baseline req/s (library ÷ it)',
        ],
        r.http.map((x) => {
          const b = x.sides.baseline!;
          const l = x.sides.library!;
          const s = x.sides.librarySerial;
          const naive = x.sides.baselineNaive;
          return [
            x.label,
            n0(b.rps),
            n0(l.rps),
            `**${n2(x.ratios.throughput)}**`,
            `${ms(b.p50)} / ${ms(b.p99)}`,
            `${ms(l.p50)} / ${ms(l.p99)}`,
            `**${n2(x.ratios.p99)}**`,
            cpu(b),
            cpu(l),
            `**${delta(l.appCpuUs, b.appCpuUs)} / ${delta(l.pgCpuUs, b.pgCpuUs)}**`,
            s ? `${n0(s.rps)} (${n2(x.serialRatios!.throughput)})` : '',
            s ? `${ms(s.p99)} (${n2(x.serialRatios!.p99)})` : '',
            naive ? `${n0(naive.rps)} (${n2(x.naiveRatios!.throughput)})` : '',
          ];
        }),
      ),
      '',
      `![ratio per route](${chartPath})`,
      '',
    );
  }

  if (r.roundTrips.length) {
    out.push(
      '#### Round trips per request',
      '',
      'Statements: counted at the pg client (a `Client.prototype.query` hook). Flights: statements sent back to back without waiting travel together. Waited: round trips the request waits for, measured through a proxy that delays every byte from PostgreSQL: (latency at the longer delay − latency at the shorter) / (difference of the delays), one request at a time.',
      '',
      table(
        [
          'request',
          'baseline: statements / waited',
          'library (pipeline): statements / flights / waited',
          'library (serial): statements / waited',
          '**extra waited (pipeline)**',
        ],
        r.roundTrips.map((t) => {
          const b = t.sides.baseline;
          const l = t.sides.library;
          const s = t.sides.librarySerial;
          return [
            t.label,
            b ? `${b.statements.length} / ${b.waited}` : '(no baseline)',
            l
              ? `${l.statements.length} / ${l.flights} / ${l.waited} (${n2(l.waitedMeasured)})`
              : '',
            s ? `${s.statements.length} / ${s.waited} (${n2(s.waitedMeasured)})` : '',
            t.extraWaited === undefined ? '' : `**${t.extraWaited}**`,
          ];
        }),
      ),
      '',
      'Statement sequences:',
      '',
      ...sequences(r),
      '',
    );
  }

  if (r.db.length) {
    out.push(
      '#### Database level: RLS vs explicit WHERE',
      '',
      `Same rows both ways, via pg directly, extended protocol, executions rotating over three connections per side for ${r.sizes.dbSeconds} s per query: RLS side as the app role inside one transaction per connection with the settings written once; explicit side as a BYPASSRLS role with \`WHERE tenant_id = $1\` (and the owner chain with a constant by hand for the hierarchy). Latency per execution at the client; EXPLAIN (ANALYZE, BUFFERS) of both sides in the JSON.`,
      '',
      table(
        [
          'query',
          'rows',
          'explicit median / p99 ms',
          'RLS median / p99 ms',
          '**ratio (median)**',
          'ratio (p99)',
        ],
        r.db.map((q) => [
          q.label,
          n0(q.rls.rows),
          `${ms(q.explicit.median)} / ${ms(q.explicit.p99)}`,
          `${ms(q.rls.median)} / ${ms(q.rls.p99)}`,
          `**${n2(q.ratios.median)}**`,
          n2(q.ratios.p99),
        ]),
      ),
      '',
    );
  }

  if (r.scale) {
    const sc = r.scale;
    out.push(
      '#### Scale: the same tenant with more tenants in the table',
      '',
      `${sc.route} for the same tenant (its rows byte-identical in each database), ${r.sizes.connections} connections, ${Math.max(2, r.sizes.rounds - 2)} alternating rounds of ${r.sizes.roundSeconds} s across the databases, library and baseline, each app in its own process.`,
      '',
      table(
        [
          'tenants',
          'tickets in the table',
          'library p50 / p99 ms',
          'library req/s',
          'baseline p50 / p99 ms',
          'baseline req/s',
        ],
        sc.points.map((p) => [
          n0(p.tenants),
          n0(p.tickets),
          `${ms(p.sides.library.p50)} / ${ms(p.sides.library.p99)}`,
          n0(p.sides.library.rps),
          p.sides.baseline ? `${ms(p.sides.baseline.p50)} / ${ms(p.sides.baseline.p99)}` : '',
          p.sides.baseline ? n0(p.sides.baseline.rps) : '',
        ]),
      ),
      '',
      `Largest / smallest tenant count: ${Object.entries(sc.ratios)
        .map(([side, v]) => `${side} p50 ${n2(v.p50)}, p99 ${n2(v.p99)}, req/s ${n2(v.throughput)}`)
        .join('; ')}.`,
      '',
    );
    if (sc.database) {
      out.push(
        `The page query itself as support-api sends it (the tenant named in the query too), under RLS as the app role, alternating across the databases (pg directly): ${Object.entries(
          sc.database.perTenants,
        )
          .map(([n, v]) => `${n0(Number(n))} tenants ${ms(v.median)} ms (p99 ${ms(v.p99)})`)
          .join(', ')}; largest / smallest ${n2(sc.database.ratio)}.`,
        '',
      );
    }
  }

  if (r.targets.length) {
    const http = r.targets.filter((t) => t.section === 'http');
    const rest = r.targets.filter((t) => t.section !== 'http');
    const missed = r.targets.filter((t) => !t.met).length;
    out.push(
      '#### Targets',
      '',
      missed ? `${missed} of ${r.targets.length} missed.` : `All ${r.targets.length} met.`,
      '',
    );
    if (http.length) {
      const metrics: [HttpMetric, string][] = [
        ['throughput', 'throughput ratio'],
        ['p99', 'p99 ratio'],
        ['appCpu', 'app CPU µs/req over the baseline'],
        ['pgCpu', 'PostgreSQL CPU µs/req over the baseline'],
      ];
      const cell = (t?: TargetCheck) => {
        if (!t) return '';
        const cpu = t.metric === 'appCpu' || t.metric === 'pgCpu';
        const value = cpu ? `${t.value >= 0 ? '+' : '−'}${n0(Math.abs(t.value))}` : n2(t.value);
        return `${value} (${t.limit}): ${ok(t.met, t.aimMet)}`;
      };
      out.push(
        table(
          ['HTTP route, against the baseline', ...metrics.map(([, label]) => label)],
          [...new Set(http.map((t) => t.subject))].map((route) => [
            route,
            ...metrics.map(([m]) => cell(http.find((t) => t.subject === route && t.metric === m))),
          ]),
        ),
        '',
      );
    }
    if (rest.length) {
      const tables = {
        http: 'HTTP table',
        roundtrips: 'round-trip table',
        db: 'database-level table',
        scale: 'scale table',
      };
      const groups = new Map<string, TargetCheck[]>();
      for (const t of rest) {
        const key = `${t.what}\u0000${t.limit}`;
        groups.set(key, [...(groups.get(key) ?? []), t]);
      }
      out.push(
        table(
          ['target', 'of', 'value', 'limit', 'result'],
          [...groups.values()].map((g) => {
            const missed = g.filter((t) => !t.met).map((t) => t.subject);
            const aimMissed = g.filter((t) => t.aimMet === false).map((t) => t.subject);
            return [
              g[0].what,
              g.length === 1 ? g[0].subject : `the ${g.length} rows of the ${tables[g[0].section]}`,
              g.map((t) => (t.section === 'roundtrips' ? String(t.value) : n2(t.value))).join(', '),
              g[0].limit,
              missed.length
                ? `**missed**: ${missed.join('; ')}`
                : aimMissed.length
                  ? `met (aim missed: ${aimMissed.join('; ')})`
                  : 'met',
            ];
          }),
        ),
        '',
      );
    }
  }
  return out.join('\n');
}

/** An SVG bar chart of the HTTP ratios per route (throughput and p99), with the target lines. */
export function ratioChart(r: BenchResults): string {
  const routes = r.http;
  const W = 960;
  const H = 420;
  const panelW = (W - 60) / 2;
  const top = 60;
  const bottom = 110;
  const plotH = H - top - bottom;
  const max = 1.4;
  const y = (v: number) => Math.round((top + plotH - (Math.min(v, max) / max) * plotH) * 10) / 10;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Library / baseline per route (${esc(r.date.slice(0, 10))}, ${r.kind})</text>`,
  );
  const panels: {
    title: string;
    key: 'throughput' | 'p99';
    target: (routeId: string) => number;
    label: string;
  }[] = [
    {
      title: 'Throughput ratio (higher is better)',
      key: 'throughput',
      target: (id) => (HTTP_THROUGHPUT_TARGETS[id] ?? { min: 0.9 }).min,
      label: 'target per route',
    },
    {
      title: 'p99 latency ratio (lower is better)',
      key: 'p99',
      target: () => 1.15,
      label: 'target ≤ 1.15',
    },
  ];
  panels.forEach((p, pi) => {
    const x0 = 40 + pi * (panelW + 20);
    parts.push(
      `<text x="${x0 + panelW / 2}" y="${top - 18}" text-anchor="middle" font-size="12" font-weight="bold">${p.title}</text>`,
      `<line x1="${x0}" y1="${top + plotH}" x2="${x0 + panelW}" y2="${top + plotH}" stroke="#333"/>`,
      `<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + plotH}" stroke="#333"/>`,
    );
    for (let v = 0; v <= max + 1e-9; v += 0.2) {
      parts.push(
        `<line x1="${x0 - 4}" y1="${y(v)}" x2="${x0 + panelW}" y2="${y(v)}" stroke="#eee"/>`,
        `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`,
      );
    }
    const group = panelW / Math.max(routes.length, 1);
    const bar = Math.min(24, (group - 16) / 3);
    routes.forEach((route, i) => {
      const gx = x0 + i * group + group / 2;
      const bars: [string, number | undefined, string][] = [
        ['pipeline', route.ratios[p.key], '#2b6cb0'],
        ['serial', route.serialRatios?.[p.key], '#a0aec0'],
        ['naive baseline', route.naiveRatios?.[p.key], '#fbd38d'],
      ];
      const t = y(p.target(route.id));
      parts.push(
        `<line x1="${gx - 1.5 * bar - 4}" y1="${t}" x2="${gx + 1.5 * bar + 2}" y2="${t}" stroke="#c53030" stroke-width="1.5" stroke-dasharray="6,4"/>`,
      );
      bars.forEach(([, v], k) => {
        if (v === undefined) return;
        const bx = gx - 1.5 * bar + k * bar;
        parts.push(
          `<rect x="${bx}" y="${y(v)}" width="${bar - 2}" height="${top + plotH - y(v)}" fill="${bars[k][2]}"/>`,
          `<text x="${bx + (bar - 2) / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`,
        );
      });
      const words = route.label.split(' ');
      const lines: string[] = [];
      for (const w of words) {
        if (lines.length && (lines[lines.length - 1] + ' ' + w).length <= 18)
          lines[lines.length - 1] += ' ' + w;
        else lines.push(w);
      }
      lines
        .slice(0, 4)
        .forEach((l, li) =>
          parts.push(
            `<text x="${gx}" y="${top + plotH + 14 + li * 12}" text-anchor="middle" font-size="10">${esc(l)}</text>`,
          ),
        );
    });
    parts.push(
      `<line x1="${x0}" y1="${y(1)}" x2="${x0 + panelW}" y2="${y(1)}" stroke="#333" stroke-dasharray="2,3"/>`,
      `<text x="${x0 + panelW - 4}" y="${top - 4}" text-anchor="end" fill="#c53030">- - ${p.label}</text>`,
    );
  });
  parts.push(
    `<rect x="${W / 2 - 330}" y="${H - 24}" width="12" height="12" fill="#2b6cb0"/>`,
    `<text x="${W / 2 - 314}" y="${H - 14}">library (pipeline mode) / baseline</text>`,
    `<rect x="${W / 2 - 60}" y="${H - 24}" width="12" height="12" fill="#a0aec0"/>`,
    `<text x="${W / 2 - 44}" y="${H - 14}">library, pipeline: false / baseline</text>`,
    `<rect x="${W / 2 + 170}" y="${H - 24}" width="12" height="12" fill="#fbd38d"/>`,
    `<text x="${W / 2 + 186}" y="${H - 14}">library / naive baseline (extra)</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
