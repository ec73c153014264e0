// Package s3dir keeps the local runtime's S3 objects in a directory: key k
// of any bucket is <dir>/<k>. It reads a distributed Map's items
// (ItemReader arn:aws:states:::s3:getObject), writes its ResultWriter files
// (arn:aws:states:::s3:putObject) and reads objects back for the functions
// that read S3, never leaving the directory.
package s3dir
