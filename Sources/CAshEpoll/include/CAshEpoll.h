// The Linux interfaces of ashd's epoll transport (Sources/AshDaemon/Epoll)
// that Swift's Glibc module does not export.
#ifndef C_ASH_EPOLL_H
#define C_ASH_EPOLL_H

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, no peer address.
int c_ash_accept_nonblocking(int descriptor);

/// Names the calling thread (at most 15 bytes are kept).
void c_ash_set_thread_name(const char *name);
#endif

#endif
