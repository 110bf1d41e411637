// Command hello says hello: what TestBuild builds.
package main

import "fmt"

func main() { fmt.Println("hello") }
