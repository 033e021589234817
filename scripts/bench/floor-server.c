/* The kernel's floor for issue14.sh's per-operation rows: a bare epoll server (one thread,
 * edge-triggered like nginx's event loop) that speaks each row's protocol with the fewest
 * system calls it needs and nothing else: no Lua, no nginx. Its CPU per operation is what the
 * kernel costs the worker, so other/floor is the best ratio any engine could reach.
 *
 *   floor-server PORT conn   accept, send "hello, world\n" with the FIN in one segment
 *                            (MSG_MORE, then close)
 *   floor-server PORT line   per read, answer "pong\n" (the keepalive row: one line each)
 *   floor-server PORT echo   per read (up to 64 KB), send back what came
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[65536];

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: floor-server PORT conn|line|echo\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *mode = argv[2];
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *) &addr, sizeof addr) || listen(ls, 4096)) {
        perror("floor-server: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(ep, evs, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (strcmp(mode, "conn") == 0) {
                        send(c, "hello, world\n", 13, MSG_MORE);
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
                                              .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
                continue;
            }
            ssize_t got = recv(fd, buf, sizeof buf, 0);
            if (got == 0 || (got < 0 && errno != EAGAIN)) {
                close(fd);
                continue;
            }
            if (got < 0) {
                continue;
            }
            if (strcmp(mode, "echo") == 0) {
                send(fd, buf, got, 0);
            } else {
                send(fd, "pong\n", 5, 0);
            }
        }
    }
}
