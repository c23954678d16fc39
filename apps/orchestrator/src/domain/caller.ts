export type Role = 'customer' | 'admin';

/** Who is calling, from a verified bearer token. */
export interface Caller {
  id: string;
  role: Role;
  email?: string;
}
