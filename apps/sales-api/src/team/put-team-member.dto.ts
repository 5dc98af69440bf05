import { ApiProperty } from '@nestjs/swagger';
import { IsString, IsUUID, Matches, MaxLength, ValidateIf } from 'class-validator';

/** Body of `PUT /team/members/:userId`: the whole member; `managerId` is required, null at the top. */
export class PutTeamMemberDto {
  @ApiProperty({ example: 'Rita Rep', maxLength: 200 })
  @IsString()
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(200)
  name: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'null for the top of the tree',
  })
  @ValidateIf((dto: PutTeamMemberDto) => dto.managerId !== null)
  @IsUUID('loose')
  managerId: string | null;
}
