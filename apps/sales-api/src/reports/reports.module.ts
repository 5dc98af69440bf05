import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Deal } from '../deals/deal.entity';
import { ReportsController } from './reports.controller';
import { ReportsService } from './reports.service';

/** Pipeline reporting. */
@Module({
  imports: [TypeOrmModule.forFeature([Deal])],
  controllers: [ReportsController],
  providers: [ReportsService],
  exports: [ReportsService],
})
export class ReportsModule {}
