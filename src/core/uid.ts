/**
 * The one uid pattern (POSIX portable user names, lower case, at most 32 characters): the roster
 * rejects anything else, so a uid is always safe as a file name on a gateway, an account name on
 * a bastion and an OpenVPN common name. The bastion script's awk checks repeat it on the host.
 */
export const UID_PATTERN = /^[a-z_][a-z0-9._-]{0,31}$/;
