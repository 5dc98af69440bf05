import { IsString, Length } from 'class-validator';

/** The body of POST /tickets. */
export class CreateTicketDto {
  @IsString()
  @Length(1, 200)
  subject!: string;
}
