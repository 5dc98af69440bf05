import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { TeamModule } from '../team/team.module';
import { Deal } from './deal.entity';
import { DealsController } from './deals.controller';
import { DealsService } from './deals.service';

/** Deals and their visibility through the reporting tree. */
@Module({
  imports: [TypeOrmModule.forFeature([Deal]), AccountsModule, TeamModule],
  controllers: [DealsController],
  providers: [DealsService],
  exports: [DealsService],
})
export class DealsModule {}
