#include <iostream>

int main() { std::cout << "tlr runner\n"; return 0; }
