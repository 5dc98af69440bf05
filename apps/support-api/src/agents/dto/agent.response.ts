import { ApiProperty } from '@nestjs/swagger';
import { Agent } from '../agent.entity';

/** An agent as the API returns it (no tenant id). */
export class AgentResponse {
  @ApiProperty({ format: 'uuid', description: 'the user (the `sub` of their tokens)' })
  userId: string;

  @ApiProperty({ format: 'date-time', description: 'when the user became an agent' })
  createdAt: string;

  /** Maps an entity to the response shape. */
  static from(agent: Agent): AgentResponse {
    return { userId: agent.userId, createdAt: agent.createdAt.toISOString() };
  }
}
