import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, IsUUID, MaxLength, ValidateIf } from 'class-validator';

/** Body of `PUT /team/members/:userId`: the whole member; `managerId` is required, null at the top. */
export class PutTeamMemberDto {
  @ApiProperty({ example: 'Rita Rep', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
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
