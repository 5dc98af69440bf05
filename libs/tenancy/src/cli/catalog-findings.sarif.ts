import { CatalogFinding } from '../catalog/catalog-check';

/** The tool name the SARIF log reports. */
const TOOL = 'nestjs-rls-tenancy';
/** Where the rules are documented. */
const INFORMATION_URI = 'https://www.npmjs.com/package/nestjs-rls-tenancy';
/** The SARIF 2.1.0 JSON schema. */
const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** A SARIF 2.1.0 log, restricted to the parts {@link catalogFindingsToSarif} writes. */
export interface SarifLog {
  /** The schema the log conforms to. */
  $schema: string;
  /** Always `2.1.0`. */
  version: '2.1.0';
  /** One run: the catalog check. */
  runs: {
    tool: {
      driver: { name: string; informationUri: string; rules: { id: string }[] };
    };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: 'error';
      message: { text: string };
      locations?: {
        logicalLocations: { name: string; fullyQualifiedName: string }[];
      }[];
    }[];
  }[];
}

/**
 * Writes catalog findings as a minimal SARIF 2.1.0 log (for code-scanning dashboards): one rule per
 * finding code that occurs, one `error` result per finding, located by the relation's name as a
 * logical location (findings about a role have no location).
 */
export function catalogFindingsToSarif(findings: CatalogFinding[]): SarifLog {
  const ruleIds = [...new Set(findings.map((f) => f.code))];
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: TOOL,
            informationUri: INFORMATION_URI,
            rules: ruleIds.map((id) => ({ id })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.code,
          ruleIndex: ruleIds.indexOf(f.code),
          level: 'error' as const,
          message: { text: f.message },
          ...(f.relation
            ? {
                locations: [
                  {
                    logicalLocations: [
                      { name: f.relation.split('.').pop()!, fullyQualifiedName: f.relation },
                    ],
                  },
                ],
              }
            : {}),
        })),
      },
    ],
  };
}
