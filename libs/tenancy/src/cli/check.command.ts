import {
  CatalogCheckProfile,
  checkTenancyCatalog,
  CitusDistributionPlan,
  formatCatalogFindings,
  planCitusDistribution,
} from '../catalog/catalog-check';
import { DEFAULT_APP_ROLE, DEFAULT_TENANT_COLUMN } from '../tenancy.constants';
import { catalogFindingsToSarif } from './catalog-findings.sarif';
import { COMMON_OPTIONS, databaseUrl, formatOf, parseCommand } from './cli-args';
import { CliCommand } from './cli-command';
import { CLI_EXIT, CliUsageError } from './cli-io';
import { withConnection } from './pg-connection';

const FORMATS = ['human', 'json', 'sarif'] as const;
const PROFILES: readonly CatalogCheckProfile[] = ['citus'];

const USAGE = `usage: nestjs-rls-tenancy check [--url <postgres url>] [options]

Lists every way the database could leak across tenants (tenant tables without FORCE RLS or a
policy, keys without the tenant column, unsafe views, an application role that bypasses RLS...).
Connect as the tables' owner (or a superuser).

  --url <url>              the database (default: DATABASE_URL)
  --app-role <role>        the role the application connects as (default: ${DEFAULT_APP_ROLE})
  --schema <name>          a schema to inspect; repeatable (default: all but PostgreSQL's own)
  --tenant-column <name>   the column that marks a tenant table (default: ${DEFAULT_TENANT_COLUMN})
  --ignore <schema.table>  a documented exception to skip; repeatable
  --profile citus          also list what stops Citus from distributing the tenant tables by the
                           tenant column (CITUS_* findings); human output adds the plan: the
                           tables to distribute and the reference tables, referenced ones first,
                           and the audited tables that need citus.enable_unsafe_triggers
  --format <format>        human, json (an array of findings) or sarif (SARIF 2.1.0); default human
  -h, --help               this text

exit codes: 0 no finding, 1 findings, 2 could not run`;

/** `check`: the catalog check, as text, JSON or SARIF; exit 1 when it finds anything. */
export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'list every way the database could leak across tenants (exit 1 when any)',
  usage: USAGE,
  async run(argv, io) {
    const values = parseCommand(argv, {
      ...COMMON_OPTIONS,
      'app-role': { type: 'string' },
      schema: { type: 'string', multiple: true },
      'tenant-column': { type: 'string' },
      ignore: { type: 'string', multiple: true },
      profile: { type: 'string' },
    });
    if (values.help) {
      io.stdout(USAGE);
      return CLI_EXIT.ok;
    }
    const format = formatOf(values.format, FORMATS);
    const profile = profileOf(values.profile);
    const url = databaseUrl(values.url, io);
    const options = {
      appRole: values['app-role'],
      schemas: values.schema,
      tenantColumn: values['tenant-column'],
      ignore: values.ignore,
      profile,
    };
    const [findings, plan] = await withConnection(url, async (client) => [
      await checkTenancyCatalog(client, options),
      profile === 'citus' && format === 'human'
        ? await planCitusDistribution(client, options)
        : null,
    ]);
    if (format === 'json') io.stdout(JSON.stringify(findings, null, 2));
    else if (format === 'sarif')
      io.stdout(JSON.stringify(catalogFindingsToSarif(findings), null, 2));
    else io.stdout([formatCatalogFindings(findings), ...(plan ? formatPlan(plan) : [])].join('\n'));
    return findings.length ? CLI_EXIT.findings : CLI_EXIT.ok;
  },
};

/** The `--profile` value, checked; undefined when none is given. */
function profileOf(value: string | undefined): CatalogCheckProfile | undefined {
  if (value === undefined) return undefined;
  if (!(PROFILES as readonly string[]).includes(value)) {
    throw new CliUsageError(`unknown profile "${value}": use ${PROFILES.join(', ')}`);
  }
  return value as CatalogCheckProfile;
}

/**
 * The Citus plan as lines of the human output: the tables to distribute, the reference tables, and
 * (when any) the audited tables that need `citus.enable_unsafe_triggers` while distributing.
 */
function formatPlan(plan: CitusDistributionPlan): string[] {
  return [
    `citus plan: distribute by the tenant column, colocated: ${plan.distributed.join(', ') || '(none)'}`,
    `citus plan: reference tables: ${plan.reference.join(', ') || '(none)'}`,
    ...(plan.unsafeTriggerTables.length
      ? [
          `citus plan: distribute with citus.enable_unsafe_triggers on (the audit trail's trigger, writing into the colocated tenancy.audit_log): ${plan.unsafeTriggerTables.join(', ')}`,
        ]
      : []),
  ];
}
