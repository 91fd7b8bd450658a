/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Socket-option constants that vmlinux.h does not carry (they are #defines in the
 * kernel's headers, not types), and a checked setsockopt for sock_ops programs. */
#ifndef TCPXI_SOCKOPT_H
#define TCPXI_SOCKOPT_H

#include <bpf/bpf_helpers.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define TCPXI_SOL_SOCKET 1
#define TCPXI_SOL_IP 0
#define TCPXI_SOL_TCP 6
#define TCPXI_SOL_IPV6 41

#define TCPXI_SO_KEEPALIVE 9
#define TCPXI_SO_MAX_PACING_RATE 47
#define TCPXI_IP_TOS 1
#define TCPXI_IPV6_TCLASS 67

#define TCPXI_TCP_NODELAY 1
#define TCPXI_TCP_KEEPIDLE 4
#define TCPXI_TCP_KEEPINTVL 5
#define TCPXI_TCP_KEEPCNT 6
#define TCPXI_TCP_CONGESTION 13
#define TCPXI_TCP_USER_TIMEOUT 18
#define TCPXI_TCP_NOTSENT_LOWAT 25

/* Returns 0 on success; a negative errno from the kernel otherwise. */
static __always_inline int tcpxi_setsockopt_int(struct bpf_sock_ops *skops, int level,
						int optname, int value)
{
	return bpf_setsockopt(skops, level, optname, &value, sizeof(value));
}

#endif /* TCPXI_SOCKOPT_H */
