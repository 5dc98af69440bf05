import { explainRowAccess } from '../explain/explain-row-access';
import { formatRowAccessExplanation } from '../explain/row-access-explanation.format';
import { COMMON_OPTIONS, databaseUrl, formatOf, parseCommand, required } from './cli-args';
import { CliCommand } from './cli-command';
import { CLI_EXIT, CliUsageError } from './cli-io';
import { withConnection } from './pg-connection';

const FORMATS = ['human', 'json'] as const;

const USAGE = `usage: nestjs-rls-tenancy explain --table <schema.table> --key <column>=<value> [--key ...]
         --tenant <uuid> --user <uuid> --role <role> [--as-role <app role>] [options]

Says whether the context may read, update and delete the row, and which policies allowed or
refused it. Everything runs in one transaction that is rolled back. Connect as a superuser or a
role with BYPASSRLS: the row is read past row-level security.

  --url <url>                        the database (default: DATABASE_URL)
  --table <schema.table>             the table
  --key <column>=<value>             a key column and its value; repeatable (the primary key)
  --tenant <uuid>                    the context's tenant
  --user <uuid>                      the context's user
  --role <role>                      the context's role (what the role setting holds)
  --request-id <id>                  the context's request id (default: a new uuid)
  --as-role <role>                   the database role to evaluate as, e.g. app_user; the
                                     statements are then also run as it and reported (default:
                                     the connection's role)
  --request-role-function <s.fn>     the app's requestRoleFunction, to evaluate as the role it picks
  --format <format>                  human or json; default human
  -h, --help                         this text

exit codes: 0 explained, 1 a statement run as --as-role disagreed with the verdict, 2 could not run`;

function keyOf(pairs: string[]): Record<string, string> {
  const key: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliUsageError(`--key ${pair}: write <column>=<value>`);
    key[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return key;
}

/** `explain`: {@link explainRowAccess} for one row and context, as text or JSON. */
export const explainCommand: CliCommand = {
  name: 'explain',
  summary: 'say whether a context may read, update or delete a row, and which policies decide',
  usage: USAGE,
  async run(argv, io) {
    const values = parseCommand(argv, {
      ...COMMON_OPTIONS,
      table: { type: 'string' },
      key: { type: 'string', multiple: true },
      tenant: { type: 'string' },
      user: { type: 'string' },
      role: { type: 'string' },
      'request-id': { type: 'string' },
      'as-role': { type: 'string' },
      'request-role-function': { type: 'string' },
    });
    if (values.help) {
      io.stdout(USAGE);
      return CLI_EXIT.ok;
    }
    const format = formatOf(values.format, FORMATS);
    const table = required(values.table, 'table');
    if (!values.key?.length) throw new CliUsageError('missing --key');
    const key = keyOf(values.key);
    const context = {
      tenantId: required(values.tenant, 'tenant'),
      userId: required(values.user, 'user'),
      role: required(values.role, 'role'),
      requestId: values['request-id'],
    };
    const url = databaseUrl(values.url, io);
    const explanation = await withConnection(url, (client) =>
      explainRowAccess(client, {
        table,
        key,
        context,
        asRole: values['as-role'],
        requestRoleFunction: values['request-role-function'],
      }),
    );
    io.stdout(
      format === 'json'
        ? JSON.stringify(explanation, null, 2)
        : formatRowAccessExplanation(explanation),
    );
    const verdicts = [explanation.read, explanation.update, explanation.delete];
    return verdicts.some((v) => v.mismatch) ? CLI_EXIT.findings : CLI_EXIT.ok;
  },
};
