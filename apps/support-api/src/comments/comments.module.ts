import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TicketsModule } from '../tickets/tickets.module';
import { CommentsController } from './comments.controller';
import { CommentsService } from './comments.service';
import { TicketComment } from './ticket-comment.entity';

/** Ticket comments: entity, service and routes. */
@Module({
  imports: [TypeOrmModule.forFeature([TicketComment]), TicketsModule],
  controllers: [CommentsController],
  providers: [CommentsService],
})
export class CommentsModule {}
