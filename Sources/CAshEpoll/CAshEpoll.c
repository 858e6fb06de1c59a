// accept4 and pthread_setname_np are GNU extensions.
#define _GNU_SOURCE
#include "CAshEpoll.h"

#ifdef __linux__
#include <pthread.h>
#include <sys/socket.h>

int c_ash_accept_nonblocking(int descriptor) {
    return accept4(descriptor, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

void c_ash_set_thread_name(const char *name) {
    pthread_setname_np(pthread_self(), name);
}
#endif
