import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReportingLine } from './reporting-line.entity';
import { TeamMember } from './team-member.entity';
import { TeamController } from './team.controller';
import { TeamService } from './team.service';

/** The reporting tree (team members and their closure). */
@Module({
  imports: [TypeOrmModule.forFeature([TeamMember, ReportingLine])],
  controllers: [TeamController],
  providers: [TeamService],
  exports: [TeamService],
})
export class TeamModule {}
