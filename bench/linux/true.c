/*
 * true: exits 0 at once. The child that microbench starts with fork, execve and waitpid,
 * the Linux peer of Tern's spawn+wait of /bin/true.
 */
int main(void) { return 0; }
