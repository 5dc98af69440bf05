import { checkTenancyCatalog, formatCatalogFindings } from '../catalog/catalog-check';
import { DEFAULT_APP_ROLE, DEFAULT_TENANT_COLUMN } from '../tenancy.constants';
import { catalogFindingsToSarif } from './catalog-findings.sarif';
import { COMMON_OPTIONS, databaseUrl, formatOf, parseCommand } from './cli-args';
import { CliCommand } from './cli-command';
import { CLI_EXIT } from './cli-io';
import { withConnection } from './pg-connection';

const FORMATS = ['human', 'json', 'sarif'] as const;

const USAGE = `usage: nestjs-rls-tenancy check [--url <postgres url>] [options]

Lists every way the database could leak across tenants (tenant tables without FORCE RLS or a
policy, keys without the tenant column, unsafe views, an application role that bypasses RLS...).
Connect as the tables' owner (or a superuser).

  --url <url>              the database (default: DATABASE_URL)
  --app-role <role>        the role the application connects as (default: ${DEFAULT_APP_ROLE})
  --schema <name>          a schema to inspect; repeatable (default: all but PostgreSQL's own)
  --tenant-column <name>   the column that marks a tenant table (default: ${DEFAULT_TENANT_COLUMN})
  --ignore <schema.table>  a documented exception to skip; repeatable
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
    });
    if (values.help) {
      io.stdout(USAGE);
      return CLI_EXIT.ok;
    }
    const format = formatOf(values.format, FORMATS);
    const url = databaseUrl(values.url, io);
    const findings = await withConnection(url, (client) =>
      checkTenancyCatalog(client, {
        appRole: values['app-role'],
        schemas: values.schema,
        tenantColumn: values['tenant-column'],
        ignore: values.ignore,
      }),
    );
    if (format === 'json') io.stdout(JSON.stringify(findings, null, 2));
    else if (format === 'sarif')
      io.stdout(JSON.stringify(catalogFindingsToSarif(findings), null, 2));
    else io.stdout(formatCatalogFindings(findings));
    return findings.length ? CLI_EXIT.findings : CLI_EXIT.ok;
  },
};
