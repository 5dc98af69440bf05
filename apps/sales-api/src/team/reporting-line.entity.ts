import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row of the reporting tree's closure (`sales.team_closure`): `descendantId` reports to
 * `ancestorId` through `depth` levels (0 is the person themselves). Maintained by triggers on
 * team_members in the same transaction as the change; the app only reads it.
 */
@Entity({ schema: 'sales', name: 'team_closure' })
export class ReportingLine {
  @PrimaryColumn({ type: 'uuid', name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn({ type: 'uuid', name: 'ancestor_id' })
  ancestorId: string;

  @PrimaryColumn({ type: 'uuid', name: 'descendant_id' })
  descendantId: string;

  @Column({ type: 'int' })
  depth: number;
}
