import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import { ec2ErrorCode } from './ec2-errors.js';

/** The session's security group's name: one per session and VPC. */
export const securityGroupName = (session: string): string => `graft-${session}`;

/**
 * Finds or creates the session's security group in the VPC: SSH (tcp/22) from `cidr` only, and
 * nothing else in. Tagged like the VMs, so `down` and `gc` find it by tag. Idempotent.
 */
export async function ensureSecurityGroup(client: EC2Client, vpcId: string, session: string, cidr: string, tags: Tag[]): Promise<string> {
  const existing = await client.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'group-name', Values: [securityGroupName(session)] },
        { Name: 'vpc-id', Values: [vpcId] },
      ],
    }),
  );
  let groupId = existing.SecurityGroups?.[0]?.GroupId;
  if (!groupId) {
    const created = await client.send(
      new CreateSecurityGroupCommand({
        GroupName: securityGroupName(session),
        Description: `graft session ${session}: SSH from the controller only`,
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
      }),
    );
    groupId = created.GroupId!;
  }
  try {
    await client.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: cidr, Description: 'graft controller' }] }],
      }),
    );
  } catch (error) {
    // A repeated `up` step finds the rule already there.
    if (ec2ErrorCode(error) !== 'InvalidPermission.Duplicate') throw error;
  }
  return groupId;
}

/** The session's security groups, found by tag. */
export async function sessionSecurityGroups(client: EC2Client, tagKey: string, session: string): Promise<string[]> {
  const found = await client.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${tagKey}`, Values: [session] }] }));
  return (found.SecurityGroups ?? []).map((group) => group.GroupId!).filter(Boolean);
}

/** Deletes a security group; one already gone is fine. EC2 refuses while an instance still uses it (DependencyViolation), which the caller retries. */
export async function deleteSecurityGroup(client: EC2Client, groupId: string): Promise<void> {
  try {
    await client.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
  } catch (error) {
    if (ec2ErrorCode(error) !== 'InvalidGroup.NotFound') throw error;
  }
}
