/** Shapes from the hawkBit Management API v1 spec (only the fields cdm uses). */
export interface Paged<T> {
  content: T[];
  total?: number;
  size?: number;
}

export interface MgmtTarget {
  controllerId: string;
  name: string;
  description?: string;
  updateStatus?: string;
  createdAt?: number;
  lastModifiedAt?: number;
  lastControllerRequestAt?: number;
  installedAt?: number;
  address?: string;
  securityToken?: string;
  pollStatus?: { lastRequestAt?: number; nextExpectedRequestAt?: number; overdue?: boolean };
}

export interface MgmtTargetCreate {
  controllerId: string;
  name: string;
  description?: string;
  securityToken?: string;
  address?: string;
}

export interface MgmtAction {
  id: number;
  type?: string; // update | cancel | ...
  /** hawkBit 1.x: the action's state (running, download, retrieved, finished, error, canceled...). */
  status?: string;
  /** Servers that send `status` as pending/finished put the state here instead (the published spec). */
  detailStatus?: string;
  active?: boolean;
  createdAt?: number;
  lastModifiedAt?: number;
  rollout?: number;
  rolloutName?: string;
  lastStatusCode?: number;
  _links?: Record<string, { href: string } | undefined>;
}

export interface MgmtActionStatus {
  id: number;
  type: string;
  messages?: string[];
  reportedAt?: number;
  timestamp?: number;
  code?: number;
}

export interface MgmtSoftwareModule {
  id: number;
  name: string;
  version: string;
  type: string;
  vendor?: string;
  description?: string;
}

export interface MgmtArtifact {
  id: number;
  providedFilename?: string;
  size?: number;
  hashes?: { sha1?: string; md5?: string; sha256?: string };
}

export interface MgmtDistributionSet {
  id: number;
  name: string;
  description?: string;
  version?: string;
  type?: string;
  complete?: boolean;
  modules?: MgmtSoftwareModule[];
}

export interface MgmtRolloutCondition {
  condition?: 'THRESHOLD';
  expression?: string;
}

export interface MgmtRolloutGroupCreate {
  name: string;
  description?: string;
  targetFilterQuery?: string;
  targetPercentage?: number;
  successCondition?: MgmtRolloutCondition;
  /** PAUSE (hawkBit ≥ 1.0): the rollout pauses when the group succeeded, while groups remain; resuming starts the next. */
  successAction?: { action?: 'NEXTGROUP' | 'PAUSE'; expression?: string };
  errorCondition?: MgmtRolloutCondition;
  errorAction?: { action?: 'PAUSE'; expression?: string };
}

export interface MgmtRolloutCreate {
  name: string;
  description?: string;
  distributionSetId: number;
  targetFilterQuery: string;
  amountGroups?: number;
  groups?: MgmtRolloutGroupCreate[];
  successCondition?: MgmtRolloutCondition;
  /** PAUSE (hawkBit ≥ 1.0): the rollout pauses when the group succeeded, while groups remain; resuming starts the next. */
  successAction?: { action?: 'NEXTGROUP' | 'PAUSE'; expression?: string };
  errorCondition?: MgmtRolloutCondition;
  errorAction?: { action?: 'PAUSE'; expression?: string };
  type?: 'soft' | 'forced' | 'timeforced' | 'downloadonly';
  startAt?: number;
}

export interface MgmtRollout {
  id: number;
  name: string;
  description?: string;
  status: string;
  totalTargets: number;
  totalGroups?: number;
  distributionSetId?: number;
  targetFilterQuery?: string;
  totalTargetsPerStatus?: Record<string, number>;
  type?: string;
}

export interface MgmtRolloutGroup {
  id: number;
  name: string;
  description?: string;
  status?: string;
  totalTargets?: number;
  targetPercentage?: number;
  totalTargetsPerStatus?: Record<string, number>;
  successCondition?: MgmtRolloutCondition;
  successAction?: { action?: string; expression?: string };
  errorCondition?: MgmtRolloutCondition;
  errorAction?: { action?: string; expression?: string };
}
